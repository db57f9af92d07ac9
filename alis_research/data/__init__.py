"""The data layer: reading, validating, pseudonymising, preparing and synthesising inputs."""
