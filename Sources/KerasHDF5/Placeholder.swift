// Placeholder: replaced as the KerasHDF5 target is written.
