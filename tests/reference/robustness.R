# Reference values for alis_research.analysis.robustness and alis_research.stats.weighting, with R's
# survival (and survey) packages.
#
# Regenerate (from the project root; Debian: apt-get install r-base-core r-cran-survival r-cran-survey):
#
#     .venv/bin/python tests/reference/export_robustness.py
#     Rscript tests/reference/robustness.R
#
# For every folder tests/reference/data_robustness/<name>/ holding ipw.csv (episodes with the
# propensity model's design columns x_1 ... x_k) this writes
# tests/reference/results/robustness_<name>_{propensity,km,rmst,cox}.csv; for the two-programme
# folder data_robustness/pooled/ (intervals.csv) robustness_pooled_cox.csv.
# R fits the propensity model, computes the stabilised weights and every weighted estimator
# itself; only the design columns come from the package.
suppressPackageStartupMessages({
  library(survival)
  library(survey)
})

here <- "tests/reference"
data_root <- file.path(here, "data_robustness")
out_root <- file.path(here, "results")
dir.create(out_root, showWarnings = FALSE, recursive = TRUE)
taus <- c(3, 5)
timepoints <- c(1, 2, 3, 5)

write_csv <- function(frame, path) {
  tmp <- paste0(path, ".tmp")
  write.csv(frame, tmp, row.names = FALSE, fileEncoding = "UTF-8", na = "")
  file.rename(tmp, path)
}

# RMST of a (weighted) KM fit and its infinitesimal-jackknife SE, from survfit's influence matrix
# (rows = clusters, columns = times): the RMST influence is the integral of the survival influence.
rmst_ij <- function(fit, tau) {
  keep <- fit$time <= tau
  times <- c(0, fit$time[keep], tau)
  widths <- diff(times)
  surv <- c(1, fit$surv[keep])
  infl <- cbind(0, fit$influence.surv[, keep, drop = FALSE])
  list(rmean = sum(widths * surv), influence = drop(infl %*% widths))
}

for (name in list.dirs(data_root, full.names = FALSE, recursive = FALSE)) {
  folder <- file.path(data_root, name)
  if (!file.exists(file.path(folder, "ipw.csv"))) next
  d <- read.csv(file.path(folder, "ipw.csv"), encoding = "UTF-8", stringsAsFactors = FALSE)
  xs <- grep("^x_", names(d), value = TRUE)

  # ---- propensity model and stabilised ATE weights ----
  g <- glm(reformulate(xs, "treatment"), data = d, family = binomial, control = glm.control(epsilon = 1e-14, maxit = 100))
  s <- summary(g)$coefficients
  write_csv(data.frame(term = c("(intercept)", xs), coef = s[, 1], se = s[, 2], converged = g$converged),
            file.path(out_root, paste0("robustness_", name, "_propensity.csv")))
  p <- fitted(g)
  share <- mean(d$treatment)
  d$w <- ifelse(d$treatment == 1, share / p, (1 - share) / (1 - p))
  d$one <- 1

  km_rows <- list(); rmst_rows <- list(); cox_rows <- list()
  for (weighting in c("crude", "ipw")) {
    wcol <- if (weighting == "crude") "one" else "w"
    infl <- list()
    for (tr in c(0, 1)) {
      sub <- d[d$treatment == tr, ]
      sub$wt <- sub[[wcol]]
      fit <- survfit(Surv(duration, exit) ~ 1, data = sub, weights = wt, cluster = person_id, robust = TRUE,
                     conf.type = "log-log", influence = TRUE)
      cohort <- if (tr == 1) "næring" else "fastlønn"
      ev <- fit$n.event > 0
      # se(S) from the influence matrix (one row per person); R's std.err prints the same here
      se_surv <- sqrt(colSums(fit$influence.surv^2))
      # survey::svykm on the weighted design: the same point estimate (NA for the crude rows)
      svy <- rep(NA_real_, sum(ev))
      if (weighting == "ipw") {
        design <- svydesign(ids = ~person_id, weights = ~w, data = d)
        sk <- svykm(Surv(duration, exit) ~ 1, design = subset(design, treatment == tr))
        svy <- stepfun(sk$time, c(1, sk$surv))(fit$time[ev])
      }
      km_rows[[paste(weighting, cohort)]] <- data.frame(
        weighting = weighting, cohort = cohort, time = fit$time[ev], n_risk = fit$n.risk[ev],
        n_event = fit$n.event[ev], survival = fit$surv[ev], std_err = se_surv[ev],
        ci_lower = fit$lower[ev], ci_upper = fit$upper[ev], svykm_survival = svy)
      for (tau in taus) {
        r <- rmst_ij(fit, tau)
        infl[[paste(tau, tr)]] <- setNames(r$influence, rownames(fit$influence.surv))
        rmst_rows[[paste(weighting, cohort, tau)]] <- data.frame(
          weighting = weighting, group = cohort, tau = tau, rmst = r$rmean, se = sqrt(sum(r$influence^2)),
          rmean_print = summary(fit, rmean = tau)$table[["rmean"]])
      }
    }
    for (tau in taus) {
      a <- infl[[paste(tau, 1)]]; b <- infl[[paste(tau, 0)]]
      ids <- union(names(a), names(b))
      diff_infl <- ifelse(is.na(a[ids]), 0, a[ids]) - ifelse(is.na(b[ids]), 0, b[ids])
      est <- rmst_rows[[paste(weighting, "næring", tau)]]$rmst - rmst_rows[[paste(weighting, "fastlønn", tau)]]$rmst
      rmst_rows[[paste(weighting, "difference", tau)]] <- data.frame(
        weighting = weighting, group = "difference", tau = tau, rmst = est, se = sqrt(sum(diff_infl^2)),
        rmean_print = NA)
    }
    # ---- weighted Cox, robust SE clustered by person ----
    d$wt <- d[[wcol]]
    f <- coxph(Surv(duration, exit) ~ treatment, data = d, weights = wt, cluster = person_id, ties = "efron")
    cs <- summary(f)$coefficients
    row <- data.frame(weighting = weighting, coef = cs[1, "coef"], se = cs[1, "se(coef)"],
                      robust_se = cs[1, "robust se"], hr = exp(cs[1, "coef"]),
                      ci_lower = exp(cs[1, "coef"] - qnorm(0.975) * cs[1, "robust se"]),
                      ci_upper = exp(cs[1, "coef"] + qnorm(0.975) * cs[1, "robust se"]),
                      p_value = cs[1, "Pr(>|z|)"], loglik = f$loglik[2], svy_coef = NA, svy_se = NA)
    if (weighting == "ipw") {
      # the survey package's design-based fit: same coefficient; its SE carries the n/(n-1) factor
      design <- svydesign(ids = ~person_id, weights = ~w, data = d)
      sv <- svycoxph(Surv(duration, exit) ~ treatment, design = design)  # Efron is its default
      row$svy_coef <- unname(coef(sv)[1]); row$svy_se <- unname(sqrt(diag(vcov(sv)))[1])
    }
    cox_rows[[weighting]] <- row
  }
  write_csv(do.call(rbind, km_rows), file.path(out_root, paste0("robustness_", name, "_km.csv")))
  write_csv(do.call(rbind, rmst_rows), file.path(out_root, paste0("robustness_", name, "_rmst.csv")))
  write_csv(do.call(rbind, cox_rows), file.path(out_root, paste0("robustness_", name, "_cox.csv")))
  cat("wrote robustness results for", name, "\n")
}

# ---- pooled programmes: Cox per programme and stratified by programme ----
pooled <- file.path(data_root, "pooled", "intervals.csv")
if (file.exists(pooled)) {
  iv <- read.csv(pooled, colClasses = c(municipality_code = "character"), encoding = "UTF-8", stringsAsFactors = FALSE)
  ep <- read.csv(file.path(data_root, "pooled", "episodes.csv"), colClasses = c(municipality_code = "character"),
                 encoding = "UTF-8", stringsAsFactors = FALSE)
  iv$programme <- ep$programme[match(iv$episode_id, ep$episode_id)]
  iv$naering <- as.numeric(iv$contract_type == "næring")
  rows <- list()
  for (prog in c(sort(unique(iv$programme)), "stratified")) {
    if (prog == "stratified") {
      f <- coxph(Surv(start, stop, exit) ~ naering + strata(programme), data = iv, cluster = municipality_code,
                 ties = "efron")
      sub <- iv
    } else {
      sub <- iv[iv$programme == prog, ]
      f <- coxph(Surv(start, stop, exit) ~ naering, data = sub, cluster = municipality_code, ties = "efron")
    }
    cs <- summary(f)$coefficients
    rows[[prog]] <- data.frame(model = prog, coef = cs[1, "coef"], se = cs[1, "se(coef)"],
                               robust_se = cs[1, "robust se"], loglik = f$loglik[2],
                               events = f$nevent, clusters = length(unique(sub$municipality_code)))
  }
  write_csv(do.call(rbind, rows), file.path(out_root, "robustness_pooled_cox.csv"))
  cat("wrote robustness results for pooled\n")
}
