// Package notify is LAVA's job notifications: the notify: block of a job
// definition (criteria, verbosity, recipients, callbacks), the rows the
// store queues in its outbox when a job starts or ends (Queue), the body of
// a callback with LAVA's fields for each dataset (Body), the email summary
// (EmailText). Package outbox (core/notify/outbox) delivers them.
//
// The store calls Queue inside the transaction that changes the job, so a
// notification is never lost between the job's end and its delivery; the
// outbox's Sender, run by lava-server, claims due rows, sends each in its
// own goroutine with a timeout (bounded concurrency), and records every
// attempt's status code or error.
package notify
