"""The engine: probe, plan, converge one host, run many hosts (rollout), the actions."""
