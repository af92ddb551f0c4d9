"""Small widgets the step screens share."""
