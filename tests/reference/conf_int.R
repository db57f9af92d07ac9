# Reference intervals at a level other than 95 % for AnalysisResult.conf_int(alpha).
#
# Regenerate from the project root (R with the survival package):
#
#     Rscript tests/reference/conf_int.R
#
# On the demo dataset exported in tests/reference/data/demo/ this writes
# tests/reference/results/conf_int_demo.csv with 90 % intervals (alpha = 0.10):
#   km         survfit(conf.type = "log-log", conf.int = 0.90), summary at 1, 2, 3, 5 years
#   median     quantile(survfit, 0.5) of the same fit
#   rmst       print(survfit, rmean = 5): rmean +- qnorm(0.95) * se(rmean)
#   rate       poisson.test(exits, person-years, conf.level = 0.90), per 100 person-years
#   rate_ratio glm(poisson) on the intervals, naering vs fastlonn, confint.default(level = 0.90)
#   cox        coxph(Surv(start, stop, exit) ~ naering, cluster = municipality_code): robust SE
#              x sqrt(G / (G - 1)) and Student's t on G - 1 df (the few-cluster correction)
suppressPackageStartupMessages(library(survival))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"
folder <- file.path(here, "data", "demo")
level <- 0.90
naering <- "n\u00e6ring"

ep <- read.csv(file.path(folder, "episodes.csv"), colClasses = c(municipality_code = "character"),
               encoding = "UTF-8", stringsAsFactors = FALSE)
iv <- read.csv(file.path(folder, "intervals.csv"), colClasses = c(municipality_code = "character"),
               encoding = "UTF-8", stringsAsFactors = FALSE)
rows <- list()
add <- function(quantity, group, time, estimate, lower, upper) {
  rows[[length(rows) + 1]] <<- data.frame(quantity = quantity, group = group, time = time,
                                          estimate = estimate, ci_lower = lower, ci_upper = upper)
}

fit <- survfit(Surv(duration, exit) ~ cohort, data = ep, conf.type = "log-log", conf.int = level)
groups <- sub("^cohort=", "", names(fit$strata))
s <- summary(fit, times = c(1, 2, 3, 5), extend = TRUE)
add("km", sub("^cohort=", "", as.character(s$strata)), s$time, s$surv, s$lower, s$upper)
q <- quantile(fit, 0.5)
add("median", groups, NA, q$quantile[, 1], q$lower[, 1], q$upper[, 1])
rm <- summary(fit, rmean = 5)$table
z <- qnorm(1 - (1 - level) / 2)
add("rmst", groups, 5, rm[, "rmean"], rm[, "rmean"] - z * rm[, "se(rmean)"], rm[, "rmean"] + z * rm[, "se(rmean)"])

for (type in sort(unique(iv$contract_type))) {
  part <- iv[iv$contract_type == type, ]
  exits <- sum(part$exit)
  years <- sum(part$stop - part$start)
  ci <- poisson.test(exits, years, conf.level = level)$conf.int
  add("rate", type, NA, 100 * exits / years, 100 * ci[1], 100 * ci[2])
}

iv$naering <- as.numeric(iv$contract_type == naering)
glm_fit <- glm(exit ~ naering + offset(log(stop - start)), family = poisson, data = iv)
ci <- confint.default(glm_fit, "naering", level = level)
add("rate_ratio", naering, NA, exp(coef(glm_fit)[["naering"]]), exp(ci[1]), exp(ci[2]))

cox <- coxph(Surv(start, stop, exit) ~ naering, data = iv, ties = "efron", cluster = municipality_code)
G <- length(unique(iv$municipality_code))
se <- sqrt(diag(cox$var)) * sqrt(G / (G - 1))
crit <- qt(1 - (1 - level) / 2, df = G - 1)
b <- coef(cox)[["naering"]]
add("cox", naering, NA, exp(b), exp(b - crit * se), exp(b + crit * se))

out <- do.call(rbind, rows)
write.csv(out, file.path(here, "results", "conf_int_demo.csv"), row.names = FALSE, fileEncoding = "UTF-8", na = "")
