// Package lab is the lab's service layer: one operation per use (submit,
// validate, cancel and resubmit jobs; list and show jobs, their logs and
// results; devices, their health, tags and dictionaries; device types,
// their settings, health checks and aliases; workers; tags; users, API
// tokens and groups), shared by the four front-ends: the REST API v1
// (core/api), the web pages (core/web), LAVA's XML-RPC (core/lavarpc) and
// LAVA's REST API v0.2 (core/lavarest).
//
// Every operation takes a Caller (an authenticated user, or anonymous) and
// checks permissions and job visibility itself, once, here: a front-end
// translates its wire format to an operation and the operation's typed
// result or *Error back; it never calls the store. An *Error has a Kind
// (invalid, unauthenticated, forbidden, not found, exists, conflict) that
// every front-end maps to its own wire error (an HTTP status, a LAVA
// XML-RPC fault code), a Reason for the causes a front-end words its own
// way, and a clear message.
//
// The submission checks (core/job's schema, then what the lab must have
// to run a definition: device types, enough devices with the tags, groups,
// the deploy and boot methods of the type's active driver, the
// submitter's groups) live here once.
//
// It imports core/model, core/store (the interface, never a backend),
// core/job, core/auth and core/devdict. It must not import net/http, a
// front-end (core/api, core/web, core/lavarpc, core/lavarest), a wire
// format (XML-RPC, JSON views, HTML), the scheduler, the worker protocol,
// plugins/ or cmd/.
package lab
