// Placeholder: replaced as the ImageIO target is written.
