// Command ssh is the device-type driver of LAVA's `ssh` device type: a
// device (a server, a board already running its OS) reached over SSH from
// the worker. Built to WASM with GOOS=wasip1 GOARCH=wasm. Its deploy
// (`to: ssh`) needs nothing of the device; its boot (`method: ssh`) opens
// the console as the host tool `ssh` with the dictionary's ssh options,
// identity file, user, host and port, as LAVA's ssh-connection does, then
// logs in when the job asks and waits for the job's prompts. The worker
// runs the tool only where its admin allows it (`--allow-tool ssh@ssh`).
package main
