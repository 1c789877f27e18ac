package cli

// cmdLookup is not written yet.
func cmdLookup(env *Env, args []string) int {
	errorf(env, "lookup", "not implemented yet")
	return ExitUsage
}
