# Reference values for alis_research.analysis.duration, computed with R's survival package.
#
# Regenerate (from the project root, where R and the survival package are installed;
# Debian: apt-get install r-base-core r-cran-survival):
#
#     Rscript tests/reference/duration.R
#
# For every folder tests/reference/data/<name>/ holding intervals.csv and episodes.csv
# (prepared datasets as CSV, see tests/reference/export_inputs.py) this writes
# tests/reference/results/duration_<name>_{cox,zph,aj,parametric,km_size}.csv.
# The design matrices are built here exactly as duration.py builds them
# (næring = 1 for the current contract type næring; categorical covariates as
# dummies against the first level present, in the order of config.py), so the
# term names match the package's.
suppressPackageStartupMessages(library(survival))

here <- "tests/reference"
data_root <- file.path(here, "data")
out_root <- file.path(here, "results")
dir.create(out_root, showWarnings = FALSE, recursive = TRUE)

size_levels <- c("<2000", "2000-4999", "5000-9999", "10000-49999", ">=50000")
area_levels <- c("Finnmark", "UNN", "Nordland", "Helgeland")
sex_levels <- c("K", "M")

write_csv <- function(frame, path) {
  tmp <- paste0(path, ".tmp")
  write.csv(frame, tmp, row.names = FALSE, fileEncoding = "UTF-8", na = "")
  file.rename(tmp, path)
}

# one numeric matrix per covariate, columns named as duration.py names the terms
covariate_matrix <- function(frame, name) {
  if (name == "næring") {
    return(matrix(as.numeric(frame$contract_type == "næring"), ncol = 1, dimnames = list(NULL, "næring")))
  }
  levels <- switch(name, size_class = size_levels, area = area_levels, sex = sex_levels, NULL)
  if (is.null(levels)) {
    return(matrix(as.numeric(frame[[name]]), ncol = 1, dimnames = list(NULL, name)))
  }
  present <- levels[levels %in% frame[[name]]]
  others <- present[-1]
  m <- sapply(others, function(l) as.numeric(frame[[name]] == l))
  m <- matrix(m, ncol = length(others), dimnames = list(NULL, paste0(name, "=", others)))
  m
}

models <- list(
  unadjusted = c("næring"),
  adjusted = c("næring", "sex", "age_at_start", "centrality"),
  size_class = c("næring", "size_class")
)

fit_cox <- function(iv, covariates) {
  env <- new.env()
  rhs <- character(0)
  term_names <- character(0)
  for (k in seq_along(covariates)) {
    m <- covariate_matrix(iv, covariates[k])
    if (ncol(m) == 0 || all(apply(m, 2, function(col) length(unique(col)) == 1))) return(NULL)
    assign(paste0("m", k), m, envir = env)
    term_names <- c(term_names, colnames(m))
    rhs <- c(rhs, paste0("m", k))
  }
  assign("iv", iv, envir = env)
  f <- as.formula(paste("Surv(start, stop, exit) ~", paste(rhs, collapse = " + ")), env = env)
  fit <- coxph(f, data = iv, ties = "efron", cluster = municipality_code)
  list(fit = fit, terms = term_names)
}

for (name in list.dirs(data_root, full.names = FALSE, recursive = FALSE)) {
  folder <- file.path(data_root, name)
  if (!file.exists(file.path(folder, "intervals.csv"))) next
  iv <- read.csv(file.path(folder, "intervals.csv"), colClasses = c(municipality_code = "character"),
                 encoding = "UTF-8", stringsAsFactors = FALSE)
  ep <- read.csv(file.path(folder, "episodes.csv"), colClasses = c(municipality_code = "character"),
                 encoding = "UTF-8", stringsAsFactors = FALSE)

  # ---- Cox (Efron, cluster-robust by municipality) and cox.zph ----
  cox_rows <- list()
  zph_rows <- list()
  for (model in names(models)) {
    covariates <- models[[model]]
    if (!all(setdiff(covariates, "næring") %in% names(iv))) next
    if (any(is.na(iv[, setdiff(covariates, "næring"), drop = FALSE]))) next
    res <- tryCatch(fit_cox(iv, covariates), error = function(e) NULL)
    if (is.null(res)) next
    fit <- res$fit
    s <- summary(fit)$coefficients
    terms <- res$terms
    z <- qnorm(0.975)
    cox_rows[[model]] <- data.frame(
      model = model, covariates = paste(covariates, collapse = ";"), term = terms,
      coef = s[, "coef"], se = s[, "se(coef)"], robust_se = s[, "robust se"],
      hr = exp(s[, "coef"]),
      ci_lower = exp(s[, "coef"] - z * s[, "robust se"]), ci_upper = exp(s[, "coef"] + z * s[, "robust se"]),
      p_value = s[, "Pr(>|z|)"],
      loglik_null = fit$loglik[1], loglik = fit$loglik[2], n = fit$n, events = fit$nevent,
      clusters = length(unique(iv$municipality_code)), check.names = FALSE)
    zph <- cox.zph(fit, transform = "km", terms = TRUE)
    tab <- zph$table
    idx <- as.integer(sub("^m", "", rownames(tab)[-nrow(tab)]))
    zph_rows[[model]] <- data.frame(
      model = model, term = c(covariates[idx], "GLOBAL"),
      chisq = tab[, "chisq"], df = tab[, "df"], p_value = tab[, "p"])
  }
  if (length(cox_rows)) write_csv(do.call(rbind, cox_rows), file.path(out_root, paste0("duration_", name, "_cox.csv")))
  if (length(zph_rows)) write_csv(do.call(rbind, zph_rows), file.path(out_root, paste0("duration_", name, "_zph.csv")))

  # ---- Aalen-Johansen: stayed in GP in the region vs left ----
  status <- ifelse(ep$exit == 0, 0L, ifelse(ep$end_reason == "other_gp_same_region", 1L, 2L))
  ep$destination <- factor(status, levels = 0:2, labels = c("censored", "stayed_gp_region", "left"))
  aj <- survfit(Surv(duration, destination) ~ cohort, data = ep)
  strata <- rep(sub("^cohort=", "", names(aj$strata)), aj$strata)
  aj_rows <- list()
  for (state in c("stayed_gp_region", "left")) {
    col <- match(state, aj$states)
    aj_rows[[state]] <- data.frame(
      cohort = strata, time = aj$time, destination = state,
      n_risk = aj$n.risk[, 1], n_event = aj$n.event[, col],
      cumulative_incidence = aj$pstate[, col], std_err = aj$std.err[, col],
      ci_lower = aj$lower[, col], ci_upper = aj$upper[, col])
  }
  write_csv(do.call(rbind, aj_rows), file.path(out_root, paste0("duration_", name, "_aj.csv")))

  # ---- Weibull and log-normal AFT per cohort (survreg) ----
  par_rows <- list()
  for (cohort in sort(unique(ep$cohort))) {
    sub_ep <- ep[ep$cohort == cohort, ]
    for (dist in c("weibull", "lognormal")) {
      fit <- tryCatch(survreg(Surv(duration, exit) ~ 1, data = sub_ep, dist = dist), error = function(e) NULL)
      if (is.null(fit) || sum(sub_ep$exit) < 3) next
      q <- predict(fit, newdata = sub_ep[1, , drop = FALSE], type = "uquantile", p = 0.5, se.fit = TRUE)
      par_rows[[paste(cohort, dist)]] <- data.frame(
        cohort = cohort, distribution = dist, loglik = fit$loglik[2],
        aic = -2 * fit$loglik[2] + 2 * 2, intercept = unname(coef(fit)[1]), scale = fit$scale,
        median = exp(q$fit), log_median_se = q$se.fit,
        ci_lower = exp(q$fit - qnorm(0.975) * q$se.fit), ci_upper = exp(q$fit + qnorm(0.975) * q$se.fit))
    }
  }
  if (length(par_rows)) write_csv(do.call(rbind, par_rows), file.path(out_root, paste0("duration_", name, "_parametric.csv")))

  # ---- KM median by size class and overall (quantile.survfit, log-log CI, as the package) ----
  km_rows <- list()
  for (label in c(size_levels, "all")) {
    sub_ep <- if (label == "all") ep else ep[ep$size_class == label, ]
    if (nrow(sub_ep) == 0) next
    km <- survfit(Surv(duration, exit) ~ 1, data = sub_ep, conf.type = "log-log")
    q <- quantile(km, probs = 0.5, conf.int = TRUE)
    km_rows[[label]] <- data.frame(size_class = label, n = nrow(sub_ep), events = sum(sub_ep$exit),
                                   median = unname(q$quantile), ci_lower = unname(q$lower), ci_upper = unname(q$upper))
  }
  write_csv(do.call(rbind, km_rows), file.path(out_root, paste0("duration_", name, "_km_size.csv")))
  cat("wrote duration results for", name, "\n")
}
