package archtest

// The import rules of the repository: the one place they are written. Every
// package's doc.go says what the package is for and points here for what
// it may import; TestImportRules (run by `make test`) checks each rule
// against `go list` of both modules (the lab and sdk/).
//
// Patterns are import paths relative to github.com/lavalab/lavalab:
//
//	core/job      that package
//	core/...      that package and every package below it
//	...           every package of this repository (both modules)
//	third-party   every import outside the standard library and this repository
//
// A rule applies to the packages matching Packages, less those matching
// Except; none of them may import a package matching Forbidden, unless it
// also matches Allowed. Only the imports of non-test files are checked:
// tests may import what they test against (a test of the dispatcher loads
// real drivers through plugins/wasm), and they are never linked into a
// binary.
var Rules = []Rule{
	// Layers.
	{
		Packages:  []string{"core/...", "plugins/...", "sdk/...", "devicetypes/...", "bench/...", "internal/..."},
		Forbidden: []string{"cmd/..."},
		Why:       "nothing imports a command: cmd/ assembles the parts, the parts do not know the commands",
	},
	{
		Packages:  []string{"core/..."},
		Except:    []string{"core/worker"},
		Forbidden: []string{"plugins/..."},
		Why: "the core owns the driver interface (core/drivers) and the hosts in plugins/ implement it; " +
			"only core/worker, the worker's program, assembles the dispatcher with the hosts (as cmd/ does)",
	},
	{
		Packages:  []string{"plugins/..."},
		Except:    []string{"plugins/internal/testbuild"},
		Forbidden: []string{"core/...", "bench/...", "devicetypes/..."},
		Allowed:   []string{"core/drivers"},
		Why: "a driver host implements core/drivers' Driver and knows nothing else of the lab " +
			"(plugins/internal/testbuild is the plugins tests' builder and finds the repository through core/testenv)",
	},
	{
		Packages:  []string{"sdk/..."},
		Forbidden: []string{"..."},
		Allowed:   []string{"sdk/..."},
		Why:       "the sdk is the module vendors build drivers with: it imports nothing of the lab",
	},
	{
		Packages:  []string{"sdk"},
		Forbidden: []string{"third-party"},
		Why:       "the driver ABI is standard library only, so a vendor's driver pulls in nothing else",
	},
	{
		Packages:  []string{"devicetypes/..."},
		Forbidden: []string{"..."},
		Allowed:   []string{"sdk/...", "devicetypes/internal/..."},
		Why:       "a driver is built like a vendor's, against the sdk alone (its tests may use core/goldentest)",
	},

	// Leaves: packages every other part imports, which import nothing of
	// the project themselves.
	{
		Packages: []string{"core/model", "core/job", "core/auth", "core/power", "core/tftp", "core/ubootimg",
			"core/jsontext", "core/artifacts", "core/bytesize", "core/version", "core/results", "core/devdict",
			"core/testenv", "core/testlab", "core/vlab", "plugins/wasm/internal/rewrite",
			"bench/proc", "bench/cpustat"},
		Forbidden: []string{"..."},
		Why: "a leaf: plain data, a parser or one mechanism, imported by the rest and importing nothing of the project " +
			"(the test kits testenv and testlab drive binaries, not the server's packages)",
	},
	{
		Packages:  []string{"bench/submit"},
		Forbidden: []string{"..."},
		Allowed:   []string{"bench/..."},
		Why:       "the submit benchmark measures the lava-server binary from outside, as a user's client does",
	},
	{
		Packages:  []string{"core/model", "core/auth", "core/power", "core/tftp", "core/ubootimg", "core/jsontext", "plugins/wasm/internal/rewrite"},
		Forbidden: []string{"third-party"},
		Why:       "standard library only",
	},
	{
		Packages:  []string{"core/console", "core/expect", "core/hosttools"},
		Forbidden: []string{"..."},
		Allowed:   []string{"sdk"},
		Why:       "the dispatcher's parts move bytes or check names on the sdk's types; the dispatcher imports them, not the reverse",
	},
	{
		Packages:  []string{"core/testshell"},
		Forbidden: []string{"..."},
		Allowed:   []string{"core/results", "core/artifacts"},
		Why:       "the test shell builds overlays and parses results; the store, the server, the worker and the hosts are not its business",
	},

	{
		Packages:  []string{"core/sandbox"},
		Forbidden: []string{"..."},
		Allowed:   []string{"sdk", "core/drivers", "core/hosttools"},
		Why:       "the sandbox judges a plan on the sdk's types alone, so the driver test kit (sdk/sdktest) can run it too",
	},

	// Data.
	{
		Packages:  []string{"core/store"},
		Forbidden: []string{"..."},
		Allowed:   []string{"core/model"},
		Why:       "the store contract is written in core/model's types only",
	},
	{
		Packages:  []string{"core/store/..."},
		Forbidden: []string{"..."},
		Allowed:   []string{"core/store/...", "core/model", "core/job", "core/jsontext", "core/notify", "migrations"},
		Why:       "a backend implements the contract on data types; the API, the scheduler and the drivers are not its business",
	},
	{
		Packages:  []string{"core/store/storetest"},
		Forbidden: []string{"core/store/sqlite", "core/store/postgres"},
		Why:       "the contract tests are imported by the backends' tests, not the reverse",
	},
	{
		Packages:  []string{"core/..."},
		Except:    []string{"core/store/...", "core/storeopen"},
		Forbidden: []string{"core/store/sqlite", "core/store/postgres", "core/store/sqlstore", "core/storeopen"},
		Why:       "the lab reaches its data through the store contract (core/store); only the commands choose a backend",
	},

	// The server's parts.
	{
		Packages:  []string{"core/api/...", "core/web/...", "core/lavarpc/...", "core/lavarest/...", "core/metrics", "core/notify/..."},
		Forbidden: []string{"core/sched", "core/workerproto/...", "core/workerserver", "core/worker", "core/dispatch/...", "core/sandbox"},
		Why:       "the front-ends serve users from the store; scheduling, the worker protocol and running jobs are other parts",
	},
	{
		Packages:  []string{"core/api/...", "core/lavarpc/...", "core/lavarest/...", "core/metrics", "core/notify/..."},
		Forbidden: []string{"core/web/..."},
		Why:       "the web pages are one front-end among others; nothing builds on them",
	},
	{
		Packages:  []string{"core/api/..."},
		Forbidden: []string{"core/web/...", "core/lavarpc/...", "core/lavarest/..."},
		Why:       frontEnds,
	},
	{
		Packages:  []string{"core/web/..."},
		Forbidden: []string{"core/api/...", "core/lavarpc/...", "core/lavarest/..."},
		Why:       frontEnds,
	},
	{
		Packages:  []string{"core/lavarpc/..."},
		Forbidden: []string{"core/api/...", "core/web/...", "core/lavarest/..."},
		Why:       frontEnds,
	},
	{
		Packages:  []string{"core/lavarest/..."},
		Forbidden: []string{"core/api/...", "core/web/...", "core/lavarpc/..."},
		Why:       frontEnds,
	},
	{
		Packages:  []string{"core/lab"},
		Forbidden: []string{"core/api/...", "core/web/...", "core/lavarpc/...", "core/lavarest/...", "core/lavafmt", "core/workerserver", "core/worker"},
		Why: "the service layer holds the rules (permissions, visibility, state changes) once, for every front-end; " +
			"it knows no wire format",
	},
	{
		Packages: []string{"core/sched"},
		Forbidden: []string{"core/api/...", "core/web/...", "core/lavarpc/...", "core/lavarest/...",
			"core/workerproto/...", "core/workerserver", "core/worker", "core/dispatch/..."},
		Why: "the scheduler assigns jobs in the store; it neither serves users nor talks to workers",
	},

	// The worker protocol: the wire contract, the server's end, the worker's end.
	{
		Packages:  []string{"core/workerproto"},
		Forbidden: []string{"..."},
		Allowed:   []string{"core/model"},
		Why:       "the wire contract (paths, messages, error codes) is shared by both ends and depends on neither",
	},
	{
		Packages: []string{"core/workerserver"},
		Forbidden: []string{"core/worker", "core/dispatch/...", "core/sandbox", "core/api/...", "core/web/...",
			"core/lavarpc/...", "core/lavarest/...", "core/sched"},
		Why: "the server's end of the worker protocol answers workers from the store; it does not run jobs or serve users",
	},
	{
		Packages: []string{"core/worker"},
		Forbidden: []string{"core/store/...", "core/workerserver", "core/api/...", "core/web/...", "core/lavarpc/...",
			"core/lavarest/...", "core/sched", "core/metrics"},
		Why: "the worker reaches the server over the protocol only: it has no store and no server code",
	},

	// Running jobs.
	{
		Packages: []string{"core/dispatch/...", "core/sandbox"},
		Forbidden: []string{"core/store/...", "core/api/...", "core/web/...", "core/lavarpc/...", "core/lavarest/...",
			"core/sched", "core/workerproto/...", "core/workerserver", "core/worker"},
		Why: "the dispatcher runs one job on one device; the worker and lava-run own persistence and transport",
	},
}

// Rule is one import rule: the packages it covers, what they must not
// import, and why.
type Rule struct {
	// Packages are the packages the rule covers, less Except.
	Packages, Except []string
	// Forbidden are the imports refused, less Allowed.
	Forbidden, Allowed []string
	// Why is the reason, printed with every violation.
	Why string
}

// frontEnds is why no front-end imports another.
const frontEnds = "the four front-ends are thin translations of their wire format to core/lab's operations; " +
	"one never builds on another (REST v0.2 once did on XML-RPC; the LAVA formats they share are core/lavafmt)"
