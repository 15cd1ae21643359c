package model

import "time"

// Notification states.
const (
	NotificationPending = "pending"
	NotificationSent    = "sent"
	NotificationFailed  = "failed"
)

// Notification kinds.
const (
	NotifyCallback = "callback"
	NotifyEmail    = "email"
)

// Notification is one callback or email of a job's notify: block, queued
// in the store's outbox when the job started (Event "running") or ended
// (Event "finished").
type Notification struct {
	ID    int64
	JobID int64
	// Event is the job change it is for: "running" or "finished".
	Event string
	// Health is the job's health at that change.
	Health JobHealth
	// Kind is NotifyCallback or NotifyEmail; Target the URL or address.
	Kind   string
	Target string
	// Spec is the callback's or recipient's settings as JSON.
	Spec []byte
	// State is NotificationPending, NotificationSent or NotificationFailed.
	State    string
	Attempts []NotificationAttempt
	// NextAttempt is when a pending notification is due.
	NextAttempt time.Time
	Created     time.Time
}

// NotificationAttempt is one try at sending a notification.
type NotificationAttempt struct {
	Time time.Time `json:"time"`
	// StatusCode is the HTTP status of a callback's answer (0: none).
	StatusCode int `json:"status_code,omitempty"`
	// Error says why the try failed ("" when it succeeded).
	Error string `json:"error,omitempty"`
}
