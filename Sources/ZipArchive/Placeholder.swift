// Placeholder: replaced as the ZipArchive target is written.
