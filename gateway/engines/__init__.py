"""Engine supervision: start each managed variant's server, watch it, restart it, stop it."""
