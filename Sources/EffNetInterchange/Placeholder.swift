// Placeholder: replaced as the EffNetInterchange target is written.
