# Gray's test and the Fine-Gray model with cmprsk (checks alis_research/stats/finegray.py).
#
# Exit causes (docs/methods.md, "Competing exits"): 1 = end_reason other_gp_same_region
# (another GP post in the region), 2 = left_region, 3 = every other end reason; 0 = censored.
# cuminc(duration, cause, cohort[, strata = area]): Gray's test (rho = 0) for causes 1 and 2.
# crr(duration, cause, cov1, failcode = 1 or 2, cencode = 0, gtol = 1e-12): coefficients and the
# sandwich SE crr reports (crr's default gtol = 1e-6 stops a few 1e-6 short of the maximum; the
# tighter tolerance gives the maximum itself, which the package computes; where crr does not reach
# 1e-12 within 100 iterations, `converged` is FALSE but the estimate is at the maximum to rounding).
#
# Run from the project root:  Rscript tests/reference/finegray.R
# Writes tests/reference/results/finegray_gray.csv and finegray_crr.csv.
suppressMessages(library(cmprsk))

cases <- list(
  list(name = "demo", file = "tests/reference/data/demo/episodes.csv", covariates = c("naering", "centrality")),
  list(name = "handmade", file = "tests/reference/data/handmade/episodes.csv", covariates = c("naering")),
  list(name = "handmade_cox", file = "tests/reference/data/handmade_cox/episodes.csv",
       covariates = c("naering", "age_at_start")),
  list(name = "monotone", file = "tests/reference/small_cohorts/monotone/episodes.csv", covariates = character(0))
)
code_of <- function(d) {
  ifelse(d$exit == 0, 0, ifelse(d$end_reason == "other_gp_same_region", 1,
                                ifelse(d$end_reason == "left_region", 2, 3)))
}
gray_rows <- list()
crr_rows <- list()
for (case in cases) {
  d <- read.csv(case$file, stringsAsFactors = FALSE, encoding = "UTF-8")
  d$cause <- code_of(d)
  d$naering <- as.numeric(d$cohort == "n\u00e6ring")
  ci <- cuminc(d$duration, d$cause, d$cohort, cencode = 0)
  for (k in c(1, 2)) {
    tst <- ci$Tests[as.character(k), ]
    gray_rows[[length(gray_rows) + 1]] <- data.frame(case = case$name, strata = "none", cause = k,
                                                     statistic = tst[["stat"]], p_value = tst[["pv"]], df = tst[["df"]])
  }
  if (case$name == "demo") {
    ci <- cuminc(d$duration, d$cause, d$cohort, strata = d$area, cencode = 0)
    for (k in c(1, 2)) {
      tst <- ci$Tests[as.character(k), ]
      gray_rows[[length(gray_rows) + 1]] <- data.frame(case = case$name, strata = "area", cause = k,
                                                       statistic = tst[["stat"]], p_value = tst[["pv"]], df = tst[["df"]])
    }
  }
  if (length(case$covariates) == 0) next
  for (k in c(1, 2)) {
    for (model in list(case$covariates[1], case$covariates)) {
      if (length(model) > 1 || identical(model, case$covariates[1])) {
        fit <- crr(d$duration, d$cause, cov1 = as.matrix(d[, model, drop = FALSE]), failcode = k, cencode = 0,
                   gtol = 1e-12, maxiter = 100)
        crr_rows[[length(crr_rows) + 1]] <- data.frame(
          case = case$name, cause = k, model = paste(model, collapse = "+"), term = model,
          coef = unname(fit$coef), se = sqrt(diag(fit$var)), loglik = fit$loglik, loglik_null = fit$loglik.null,
          converged = fit$converged)
      }
    }
  }
}
write_atomic <- function(out, path) {
  write.csv(format(out, digits = 17, trim = TRUE), paste0(path, ".tmp"), row.names = FALSE, quote = FALSE)
  file.rename(paste0(path, ".tmp"), path)
}
gray <- do.call(rbind, gray_rows)
fg <- unique(do.call(rbind, crr_rows))
print(gray)
print(fg)
write_atomic(gray, "tests/reference/results/finegray_gray.csv")
write_atomic(fg, "tests/reference/results/finegray_crr.csv")
