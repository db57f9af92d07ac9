# Firth-penalised Cox model by direct maximisation of the penalised partial likelihood.
#
# Independent of alis_research/stats/firth.py: the Efron log partial likelihood and its
# information are written out with plain loops over exit times, the penalised likelihood
# l(b) + 0.5 log|I(b)| is maximised with optim (Brent for one coefficient, BFGS for more),
# the profile limits are found with uniroot on the profile penalised likelihood (inner
# maximisation again by optim) and the p-value is the penalised likelihood-ratio test of b = 0.
# Standard errors: sqrt(diag(I(b)^-1)) at the estimate, as coxphf.
#
# Run from the project root:  Rscript tests/reference/firth.R
# Writes tests/reference/results/firth_<case>.csv.

cases <- list(
  list(name = "monotone", file = "tests/reference/small_cohorts/monotone/intervals.csv", area = NA,
       terms = c("naering")),
  list(name = "monotone_centrality", file = "tests/reference/small_cohorts/monotone/intervals.csv", area = NA,
       terms = c("naering", "centrality")),
  list(name = "demo_nordland", file = "tests/reference/data/demo/intervals.csv", area = "Nordland",
       terms = c("naering")),
  list(name = "demo", file = "tests/reference/data/demo/intervals.csv", area = NA,
       terms = c("naering", "centrality")),
  list(name = "handmade_cox", file = "tests/reference/data/handmade_cox/intervals.csv", area = NA,
       terms = c("naering", "age_at_start"))
)

efron <- function(beta, start, stop, event, X) {
  eta <- drop(X %*% beta)
  r <- exp(eta)
  p <- ncol(X)
  ll <- 0
  info <- matrix(0, p, p)
  for (t in sort(unique(stop[event == 1]))) {
    risk <- start < t & stop >= t
    dead <- event == 1 & stop == t
    d <- sum(dead)
    ll <- ll + sum(eta[dead])
    for (k in 0:(d - 1)) {
      w <- r * ifelse(dead, 1 - k / d, ifelse(risk, 1, 0))
      s0 <- sum(w)
      a <- colSums(w * X) / s0
      ll <- ll - log(s0)
      xc <- sweep(X, 2, a)
      info <- info + crossprod(xc * sqrt(w / s0))
    }
  }
  list(loglik = ll, info = info,
       pl = ll + 0.5 * as.numeric(determinant(info, logarithm = TRUE)$modulus))
}

maximise <- function(f, start) {
  # f: penalised log-likelihood of the free coefficients
  if (length(start) == 1) {
    o <- optim(start, function(b) -f(b), method = "Brent", lower = -30, upper = 30,
               control = list(reltol = 1e-16))
    return(list(par = o$par, value = -o$value))
  }
  par <- start
  for (round in 1:3) {
    o <- optim(par, function(b) -f(b), method = "BFGS",
               control = list(reltol = 1e-16, maxit = 5000, ndeps = rep(1e-6, length(start))))
    par <- o$par
  }
  list(par = par, value = -o$value)
}

fit_case <- function(case) {
  d <- read.csv(case$file, stringsAsFactors = FALSE, encoding = "UTF-8")
  if (!is.na(case$area)) d <- d[d$area == case$area, ]
  d$naering <- as.numeric(d$contract_type == "n\u00e6ring")
  X <- as.matrix(d[, case$terms, drop = FALSE])
  X <- sweep(X, 2, colMeans(X))
  pl <- function(b) efron(b, d$start, d$stop, d$exit, X)$pl
  p <- ncol(X)
  best <- maximise(pl, rep(0, p))
  beta <- best$par
  at <- efron(beta, d$start, d$stop, d$exit, X)
  se <- sqrt(diag(solve(at$info)))
  crit <- qchisq(0.95, 1)
  rows <- list()
  for (j in seq_len(p)) {
    profile <- function(value) {
      if (p == 1) return(pl(value))
      inner <- function(other) { b <- numeric(p); b[j] <- value; b[-j] <- other; pl(b) }
      maximise(inner, beta[-j])$value
    }
    deviance <- function(value) 2 * (at$pl - profile(value)) - crit
    limit <- function(direction) {
      inner <- beta[j]; outer <- beta[j] + direction * se[j]
      while (deviance(outer) < 0) { inner <- outer; outer <- beta[j] + 2 * (outer - beta[j]) }
      uniroot(deviance, sort(c(inner, outer)), tol = 1e-12)$root
    }
    lr <- 2 * (at$pl - profile(0))
    rows[[j]] <- data.frame(case = case$name, term = case$terms[j], coef = beta[j], se = se[j],
                            ci_lower = limit(-1), ci_upper = limit(1), lr_statistic = lr,
                            p_value = pchisq(lr, 1, lower.tail = FALSE),
                            penalised_loglik = at$pl, loglik = at$loglik)
  }
  do.call(rbind, rows)
}

dir.create("tests/reference/results", showWarnings = FALSE)
for (case in cases) {
  out <- fit_case(case)
  path <- sprintf("tests/reference/results/firth_%s.csv", case$name)
  write.csv(format(out, digits = 17, trim = TRUE), paste0(path, ".tmp"), row.names = FALSE, quote = FALSE)
  file.rename(paste0(path, ".tmp"), path)
  print(out)
}
