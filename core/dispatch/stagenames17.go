package dispatch

// Issue 17: LAVA's names of the top-level actions of the boot and deploy
// methods whose name is not METHOD-boot or METHOD-deploy (the `lava` result
// suite's case names).
var (
	lavaBootNames17 = map[string]string{
		"ssh":         "login-ssh",
		"depthcharge": "depthcharge-action",
		"barebox":     "barebox-action",
		"bootloader":  "boot-bootloader-retry",
		"docker":      "boot-docker",            // issue 21
		"uefi-menu":   "uefi-menu-action",       // LAVA's UefiMenuAction
		"uefi":        "uefi-shell-main-action", // LAVA's UefiShellAction
	}
	lavaDeployNames17 = map[string]string{
		"ssh":    "scp-overlay",
		"docker": "deploy-docker", // issue 21
	}
)
