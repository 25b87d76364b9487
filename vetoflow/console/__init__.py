"""The operator console: one module per tab, assembled by `vetoflow.ui.build_console`."""
