"""The maths of a problem: `Problem`, `MultinomialProblem` and `RankingProblem`
(objective, gradient, predictions), the step-size schedules and the update rules."""
