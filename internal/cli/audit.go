package cli

// cmdAudit is not written yet.
func cmdAudit(env *Env, args []string) int {
	errorf(env, "audit", "not implemented yet")
	return ExitUsage
}
