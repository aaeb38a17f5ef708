"""The scalar maths every layer shares: per-example losses and their derivatives
(binary and multiclass), and the penalties with their lazy and proximal forms."""
