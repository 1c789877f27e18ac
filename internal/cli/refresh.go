package cli

// cmdRefresh is not written yet.
func cmdRefresh(env *Env, args []string) int {
	errorf(env, "refresh", "not implemented yet")
	return ExitUsage
}
