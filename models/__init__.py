"""What is built on the engine: the one-unit logistic model, MNIST data, training and the CLI."""
