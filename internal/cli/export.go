package cli

// cmdExport is not written yet.
func cmdExport(env *Env, args []string) int {
	errorf(env, "export", "not implemented yet")
	return ExitUsage
}
