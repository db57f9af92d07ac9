# Exact and Monte-Carlo permutation log-rank tests with coin (checks alis_research/stats/logrank_exact.py).
#
# coin::logrank_test(Surv(duration, exit) ~ cohort) with its default scores (ties.method =
# "mid-ranks", logrank weights: Nelson-Aalen at t_i minus the exit indicator) and the cohort
# factor in its default level order (fastlønn first), so that coin's Z is the standardised
# observed-minus-expected exits of næring.  distribution = "exact" (van de Wiel split-up
# algorithm for real-valued scores) and approximate(nresample = 100000) with a fixed seed.
#
# Run from the project root:  Rscript tests/reference/logrank_exact.R
# Writes tests/reference/results/logrank_exact.csv (p_exact empty where coin cannot enumerate).
suppressMessages(library(coin))

cases <- list(
  list(name = "monotone", file = "tests/reference/small_cohorts/monotone/episodes.csv", area = NA),
  list(name = "demo", file = "tests/reference/data/demo/episodes.csv", area = NA, exact = FALSE),
  list(name = "demo_finnmark", file = "tests/reference/data/demo/episodes.csv", area = "Finnmark"),
  list(name = "demo_unn", file = "tests/reference/data/demo/episodes.csv", area = "UNN"),
  list(name = "demo_nordland", file = "tests/reference/data/demo/episodes.csv", area = "Nordland"),
  list(name = "demo_helgeland", file = "tests/reference/data/demo/episodes.csv", area = "Helgeland"),
  list(name = "handmade", file = "tests/reference/data/handmade/episodes.csv", area = NA),
  list(name = "handmade_cox", file = "tests/reference/data/handmade_cox/episodes.csv", area = NA)
)
resamples <- 100000
rows <- list()
for (case in cases) {
  d <- read.csv(case$file, stringsAsFactors = FALSE, encoding = "UTF-8")
  if (!is.na(case$area)) d <- d[d$area == case$area, ]
  d$cohort <- factor(d$cohort)
  stopifnot(identical(levels(d$cohort), c("fastl\u00f8nn", "n\u00e6ring")))
  # coin's split-up algorithm runs out of memory (segfault) on the 54 demo episodes: Monte Carlo only there
  run_exact <- is.null(case$exact) || case$exact
  cat(case$name, nrow(d), "episodes\n")
  asymptotic <- logrank_test(Surv(duration, exit) ~ cohort, data = d)
  exact <- if (run_exact) logrank_test(Surv(duration, exit) ~ cohort, data = d, distribution = "exact") else NULL
  set.seed(2019)
  approx <- logrank_test(Surv(duration, exit) ~ cohort, data = d,
                         distribution = approximate(nresample = resamples))
  p_mc <- as.numeric(pvalue(approx))
  rows[[length(rows) + 1]] <- data.frame(
    case = case$name, n = nrow(d), statistic = as.numeric(statistic(asymptotic)),
    linear_statistic = as.numeric(statistic(asymptotic, "linear")), variance = as.numeric(variance(asymptotic)),
    p_exact = if (run_exact) as.numeric(pvalue(exact)) else NA, p_monte_carlo = p_mc, resamples = resamples,
    mc_std_error = sqrt(p_mc * (1 - p_mc) / resamples))
}
out <- do.call(rbind, rows)
print(out)
path <- "tests/reference/results/logrank_exact.csv"
write.csv(format(out, digits = 17, trim = TRUE), paste0(path, ".tmp"), row.names = FALSE, quote = FALSE)
file.rename(paste0(path, ".tmp"), path)
