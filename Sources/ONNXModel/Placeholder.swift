// Placeholder: replaced as the ONNXModel target is written.
