# Reference values for alis_research.analysis.retention and alis_research.analysis.turnover.
#
# Regenerate (from the project root, where R and the survival package are installed;
# Debian: apt-get install r-base-core r-cran-survival):
#
#     Rscript tests/reference/retention.R
#
# For every folder tests/reference/data/<name>/ holding a prepared dataset exported as
# episodes.csv and intervals.csv, this writes tests/reference/results/retention_<name>_*.csv:
#   _curve.csv   full Kaplan-Meier step function per cohort (survfit, conf.type = "log-log")
#   _km.csv      summary(survfit, times = c(1, 2, 3, 5), extend = TRUE) per cohort and
#                per cohort x area
#   _median.csv  quantile(survfit, 0.5) with its CI, plus the median and CI print() shows
#   _logrank.csv survdiff unstratified and stratified by area
#   _rmst.csv    print(survfit, rmean = tau): rmean and se(rmean) for tau = 3, 5, 6
#   _rates.csv   exits, person-years and exact Poisson CI (poisson.test) per current
#                contract type and per area
#   _glm.csv     glm(poisson) rate ratio naering vs fastlonn with log person-time offset,
#                unadjusted and adjusted for area (Wald CI)
# The CI in CI is not run: the committed CSV files are what the tests compare with.
suppressPackageStartupMessages(library(survival))

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
here <- if (length(script)) dirname(normalizePath(script)) else "tests/reference"
data_root <- file.path(here, "data")
out_root <- file.path(here, "results")
dir.create(out_root, showWarnings = FALSE)

contract_levels <- c("fastl\u00f8nn", "n\u00e6ring")
timepoints <- c(1, 2, 3, 5)

write_out <- function(df, name, what) {
  path <- file.path(out_root, sprintf("retention_%s_%s.csv", name, what))
  write.csv(df, path, row.names = FALSE, fileEncoding = "UTF-8", na = "")
}

strata_labels <- function(fit, n) {
  if (is.null(fit$strata)) return(rep("all", n))
  rep(names(fit$strata), fit$strata)
}

split_label <- function(label, key) {
  # "cohort=fastlonn, area=UNN" -> value of key
  parts <- strsplit(label, ", ", fixed = TRUE)
  vapply(parts, function(p) {
    hit <- p[startsWith(p, paste0(key, "="))]
    if (length(hit)) trimws(sub(paste0("^", key, "="), "", hit)) else ""
  }, "")
}

km_tables <- function(ep, name) {
  fit <- survfit(Surv(duration, exit) ~ cohort, data = ep, conf.type = "log-log")
  lab <- strata_labels(fit, length(fit$time))
  write_out(data.frame(group = split_label(lab, "cohort"), time = fit$time, at_risk = fit$n.risk,
                       events = fit$n.event, censored = fit$n.censor, survival = fit$surv,
                       std_err = fit$std.err, ci_lower = fit$lower, ci_upper = fit$upper),
            name, "curve")

  km <- list()
  fits <- list(cohort = fit,
               area = survfit(Surv(duration, exit) ~ cohort + area, data = ep, conf.type = "log-log"))
  for (strat in names(fits)) {
    f <- fits[[strat]]
    s <- summary(f, times = timepoints, extend = TRUE)
    lab <- as.character(s$strata)
    km[[strat]] <- data.frame(
      strata = if (strat == "cohort") "" else "area",
      group = split_label(lab, "cohort"), stratum = split_label(lab, "area"),
      time = s$time, survival = s$surv, std_err = s$std.err, ci_lower = s$lower,
      ci_upper = s$upper, at_risk = s$n.risk, events = s$n.event)
  }
  write_out(do.call(rbind, km), name, "km")

  q <- quantile(fit, probs = 0.5, conf.int = TRUE)
  tab <- summary(fit)$table
  write_out(data.frame(group = split_label(rownames(tab), "cohort"),
                       median = as.vector(q$quantile), ci_lower = as.vector(q$lower),
                       ci_upper = as.vector(q$upper),
                       print_median = tab[, "median"], print_ci_lower = tab[, "0.95LCL"],
                       print_ci_upper = tab[, "0.95UCL"]),
            name, "median")

  rows <- list()
  for (tau in c(3, 5, 6)) {
    t <- summary(fit, rmean = tau)$table
    rows[[length(rows) + 1]] <- data.frame(group = split_label(rownames(t), "cohort"), tau = tau,
                                           rmst = t[, "rmean"], se = t[, "se(rmean)"])
  }
  write_out(do.call(rbind, rows), name, "rmst")

  plain <- survdiff(Surv(duration, exit) ~ cohort, data = ep)
  strat <- survdiff(Surv(duration, exit) ~ cohort + strata(area), data = ep)
  lr <- function(sd, label) data.frame(strata = label, statistic = sd$chisq,
                                       df = length(sd$n) - 1,
                                       p_value = pchisq(sd$chisq, length(sd$n) - 1, lower.tail = FALSE))
  write_out(rbind(lr(plain, ""), lr(strat, "area")), name, "logrank")
}

rate_tables <- function(iv, name) {
  iv$person_years <- iv$stop - iv$start
  rows <- list()
  for (by in c("contract_type", "area")) {
    for (level in sort(unique(iv[[by]]))) {
      sub <- iv[iv[[by]] == level, ]
      x <- sum(sub$exit); py <- sum(sub$person_years)
      ci <- poisson.test(x, py)$conf.int
      rows[[length(rows) + 1]] <- data.frame(by = by, level = level, exits = x, person_years = py,
                                             rate_per_100 = 100 * x / py,
                                             ci_lower = 100 * ci[1], ci_upper = 100 * ci[2])
    }
  }
  write_out(do.call(rbind, rows), name, "rates")

  iv <- iv[iv$person_years > 0, ]
  models <- list(unadjusted = exit ~ contract_type + offset(log(person_years)),
                 area = exit ~ contract_type + area + offset(log(person_years)))
  rows <- list()
  for (m in names(models)) {
    g <- glm(models[[m]], family = poisson, data = iv)
    co <- summary(g)$coefficients
    term <- grep("^contract_type", rownames(co), value = TRUE)
    est <- co[term, "Estimate"]; se <- co[term, "Std. Error"]; z <- qnorm(0.975)
    rows[[length(rows) + 1]] <- data.frame(model = m, coef = est, se = se, irr = exp(est),
                                           ci_lower = exp(est - z * se), ci_upper = exp(est + z * se),
                                           p_value = co[term, "Pr(>|z|)"])
  }
  write_out(do.call(rbind, rows), name, "glm")
}

for (folder in list.dirs(data_root, recursive = FALSE)) {
  name <- basename(folder)
  ep <- read.csv(file.path(folder, "episodes.csv"), encoding = "UTF-8", stringsAsFactors = FALSE)
  iv <- read.csv(file.path(folder, "intervals.csv"), encoding = "UTF-8", stringsAsFactors = FALSE)
  ep$cohort <- factor(ep$cohort, levels = contract_levels)
  iv$contract_type <- factor(iv$contract_type, levels = contract_levels)
  km_tables(ep, name)
  rate_tables(iv, name)
  cat("wrote references for", name, "\n")
}
