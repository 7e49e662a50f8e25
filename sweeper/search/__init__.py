"""Which trial runs next: the sweep's searchers on Ray Tune's Searcher interface (a grid,
a fidelity ladder rung by rung, Optuna with seeds as repeats), each trial's settings
resolved on the driver, at most `max_concurrent` at a time (`searchers.build`). Their
state is saved with the sweep and, restored, agrees with the trials Tune restored
(`restored`). The runner hands them to Tune; they never import the runner."""
