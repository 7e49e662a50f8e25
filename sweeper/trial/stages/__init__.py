"""The steps of one trial, each a module with a `run(ctx, ...)` function.

1. intermediate: multi-task training of the shared encoder on the intermediate tasks
2. evaluate (retrieval): BUCC / Tatoeba straight from the encoder, no training
3. target: fine-tuning on the target's English training data
4. evaluate: zero-shot predictions on every language, written in the XTREME layout

`context` holds what the steps share; `fit` is the bridge from settings to the training
loop (only the training steps import it); evaluators are looked up by task type in
`evaluate.EVALUATORS`.
"""
