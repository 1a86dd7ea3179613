// Placeholder: replaced as the TorchArchive target is written.
