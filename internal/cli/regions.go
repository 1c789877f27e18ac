package cli

// cmdRegions is not written yet.
func cmdRegions(env *Env, args []string) int {
	errorf(env, "regions", "not implemented yet")
	return ExitUsage
}
