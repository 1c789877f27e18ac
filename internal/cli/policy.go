package cli

// cmdPolicy is not written yet.
func cmdPolicy(env *Env, args []string) int {
	errorf(env, "policy", "not implemented yet")
	return ExitUsage
}
