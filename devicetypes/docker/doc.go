// Command docker is the device-type driver of LAVA's `docker` device type
// (issue 21): a container on the worker is the device under test. Built to
// WASM with GOOS=wasip1 GOARCH=wasm. Its deploy (`to: docker`) pulls the
// job's image, or checks that a `local: true` image is there; its boot
// (`method: docker`) opens the console as the container engine's
// `run --rm --init --interactive --tty --hostname lava --name lava-JOB-LEVEL ...
// IMAGE COMMAND` in a pty, with the dictionary's cpus, memory, privileged,
// capabilities, devices, networks, volumes and extra arguments, as LAVA's
// boot-docker does, then logs in when the job asks and waits for the job's
// prompts; the test shell sends the overlay over that console. The engine
// (docker or podman, the docker_engine setting) is a host tool the worker
// runs only where its admin allows it (`--allow-tool docker@docker`).
package main
