"""Where exported files live, and the signed links that fetch them without a key."""
