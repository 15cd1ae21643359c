# The lab's build. `make test` is what CI runs; `make demo` runs the main job.
SHELL := /bin/bash
GO ?= go
BIN := bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X github.com/lavalab/lavalab/core/version.Version=$(VERSION)
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
# Drivers: every devicetypes/<name>/ folder with a main.go.
DRIVERS := $(patsubst devicetypes/%/main.go,%,$(wildcard devicetypes/*/main.go))
COMMANDS := $(filter-out internal,$(patsubst cmd/%/,%,$(wildcard cmd/*/)))
FUZZTIME ?= 20s
# Go modules beside the main one and sdk/: the driver test kit and the
# skeleton driver (each with its own go.mod, see sdk/README.md).
KITMODULES := sdk/sdktest sdk/skeleton

.PHONY: all build drivers commands test test-short test-e2e lint fmt vet staticcheck bench fuzz demo demo-stop clean vlab-images

all: build

build: drivers commands

commands:
	@mkdir -p $(BIN)
	@for c in $(COMMANDS); do \
	  echo "go build $$c"; \
	  CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/$$c ./cmd/$$c || exit 1; \
	done

drivers:
	@mkdir -p $(BIN)/drivers
	@for d in $(DRIVERS); do \
	  echo "go build (wasip1/wasm) driver $$d"; \
	  GOOS=wasip1 GOARCH=wasm $(GO) build -trimpath -ldflags '-s -w' -o $(BIN)/drivers/$$d.wasm ./devicetypes/$$d || exit 1; \
	done

# The test command README gives and CI runs. Fuzz targets run their seed
# corpora as ordinary tests here; `make fuzz` fuzzes for real. Both modules'
# `go test -json` go through scripts/testsummary: go test's usual lines
# (ok / FAIL per package, failing tests' output), then the skipped tests and
# their reasons; the exit status is 1 when go test or a test failed.
test: build
	$(GO) vet ./...
	cd sdk && $(GO) vet ./...
	@for m in $(KITMODULES); do echo "cd $$m && $(GO) vet ./..."; (cd $$m && $(GO) vet ./...) || exit 1; done
	$(GO) build -o $(BIN)/.testsummary ./scripts/testsummary
	set -o pipefail; { rc=0; $(GO) test -json -count=1 -timeout 20m ./... || rc=1; \
	  (cd sdk && $(GO) test -json -count=1 -timeout 5m ./...) || rc=1; \
	  for m in $(KITMODULES); do (cd $$m && $(GO) test -json -count=1 -timeout 5m ./...) || rc=1; done; \
	  exit $$rc; } | $(BIN)/.testsummary

# End-to-end tests of the whole lab (core/e2e): the bin/ lava-server and
# lava-worker, two virtual U-Boot boards (QEMU, make vlab-images), jobs
# through the REST API; on PostgreSQL too when LAVA_TEST_POSTGRES_DSN is set.
# Skipped with a reason when QEMU or the images are missing (CI=true: failed).
test-e2e: build
	LAVALAB_E2E=1 $(GO) test -count=1 -timeout 20m -v ./core/e2e/

test-short:
	$(GO) test -short ./...
	cd sdk && $(GO) test -short ./...
	@for m in $(KITMODULES); do (cd $$m && $(GO) test -short ./...) || exit 1; done

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...
	cd sdk && $(GO) vet ./...
	@for m in $(KITMODULES); do echo "cd $$m && $(GO) vet ./..."; (cd $$m && $(GO) vet ./...) || exit 1; done

staticcheck:
	$(GO) run $(STATICCHECK) ./...
	cd sdk && $(GO) run $(STATICCHECK) ./...
	@for m in $(KITMODULES); do (cd $$m && $(GO) run $(STATICCHECK) ./...) || exit 1; done

lint: vet staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt: not formatted:"; echo "$$out"; exit 1; fi

# Benchmarks: the figures in the issue notes.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./...
	cd sdk && $(GO) test -run '^$$' -bench . -benchmem ./...

# Real fuzzing: each fuzz target for FUZZTIME.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

# The virtual lab's QEMU board images (scripts/vlab/images.sh): installs
# qemu-system-arm, u-boot-qemu, busybox-static and u-boot-tools when missing,
# builds into $${LAVALAB_VLAB_CACHE:-~/.cache/lavalab/vlab}; a no-op when done.
# scripts/vlab/pc-images.sh: the PC boards of issue 17 (iPXE, GRUB EFI with
# OVMF, GRUB BIOS) under <cache>/pc, installing qemu-system-x86, ovmf and
# grub-*-bin when missing.
vlab-images:
	@bash scripts/vlab/images.sh
	@bash scripts/vlab/pc-images.sh

# The main job on this machine (README.md, "make demo"): lava-server, one
# lava-worker, one job. A virtual U-Boot board under QEMU when QEMU and the
# board images are there, else the `local` device; LAVALAB_DEMO_DEVICE=local
# or vlab chooses. Both keep running until `make demo-stop`.
demo: build
	@bash scripts/demo.sh

demo-stop:
	@bash scripts/demo.sh stop

clean:
	rm -rf $(BIN)

# Issue 18: the virtual Cortex-M board's firmware (scripts/vlab/mcu.sh):
# built with gcc-arm-none-eabi into the vlab cache's mcu/ folder.
.PHONY: vlab-mcu
vlab-images: vlab-mcu
vlab-mcu:
	@bash scripts/vlab/mcu.sh

# Issue 17 (uefi-menu, uefi): the arm64 UEFI board's GRUB EFI image
# (scripts/vlab/uefi-images.sh) under <cache>/uefi, after images.sh (whose
# arm64 kernel and ramdisk the board boots); installs qemu-efi-aarch64 when
# missing and downloads grub-efi-arm64-bin (arm64) without installing it.
.PHONY: vlab-uefi
vlab-images: vlab-uefi
vlab-uefi:
	@bash scripts/vlab/images.sh
	@bash scripts/vlab/uefi-images.sh
