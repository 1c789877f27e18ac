package cli

// cmdScan is not written yet.
func cmdScan(env *Env, args []string) int {
	errorf(env, "scan", "not implemented yet")
	return ExitUsage
}
