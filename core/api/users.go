package api

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/lavalab/lavalab/core/model"
)

func (a *API) listUsers(w http.ResponseWriter, r *http.Request) {
	us, err := a.lab.ListUsers(r.Context(), caller(r.Context()))
	if err != nil {
		a.labError(w, r, err, "users")
		return
	}
	out := make([]UserView, 0, len(us))
	for _, u := range us {
		out = append(out, userView(u))
	}
	writeJSON(w, http.StatusOK, Page[UserView]{Count: len(out), Limit: len(out), Results: out})
}

// UserCreate is the body of POST /users.
type UserCreate struct {
	Username string   `json:"username"`
	Email    string   `json:"email"`
	Admin    bool     `json:"admin"`
	Groups   []string `json:"groups"`
}

func (a *API) createUser(w http.ResponseWriter, r *http.Request) {
	var b UserCreate
	if !decodeJSON(w, r, MaxBody, &b) {
		return
	}
	if strings.TrimSpace(b.Username) == "" || strings.ContainsAny(b.Username, " \t\n/") {
		writeError(w, http.StatusBadRequest, "invalid", "username is required and may not hold spaces or slashes", nil)
		return
	}
	u, secret, err := a.lab.CreateUser(r.Context(), caller(r.Context()), model.User{Username: b.Username, Email: b.Email, IsAdmin: b.Admin, Groups: b.Groups})
	if err != nil {
		a.labError(w, r, err, fmt.Sprintf("user %q", b.Username))
		return
	}
	v := userView(u)
	v.Token = secret
	writeJSON(w, http.StatusCreated, v)
}

func (a *API) me(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, userView(*userFrom(r.Context())))
}

func (a *API) listTokens(w http.ResponseWriter, r *http.Request) {
	ts, err := a.lab.Tokens(r.Context(), caller(r.Context()))
	if err != nil {
		a.labError(w, r, err, "tokens")
		return
	}
	out := make([]TokenView, 0, len(ts))
	for _, t := range ts {
		out = append(out, tokenView(t))
	}
	writeJSON(w, http.StatusOK, Page[TokenView]{Count: len(out), Limit: len(out), Results: out})
}

// TokenCreate is the body of POST /users/me/tokens (may be empty).
type TokenCreate struct {
	Description string `json:"description"`
}

func (a *API) createToken(w http.ResponseWriter, r *http.Request) {
	var b TokenCreate
	if r.ContentLength != 0 {
		raw, ok := readBody(w, r, MaxBody)
		if !ok {
			return
		}
		if strings.TrimSpace(string(raw)) != "" && !decodeBytes(w, raw, &b) {
			return
		}
	}
	t, secret, err := a.lab.CreateToken(r.Context(), caller(r.Context()), b.Description)
	if err != nil {
		a.labError(w, r, err, "token")
		return
	}
	v := tokenView(t)
	v.Token = secret
	writeJSON(w, http.StatusCreated, v)
}

func (a *API) deleteToken(w http.ResponseWriter, r *http.Request) {
	s := chi.URLParam(r, "id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		paramError(w, "id", fmt.Sprintf("%q is not a token id", s))
		return
	}
	if err := a.lab.DeleteToken(r.Context(), caller(r.Context()), id); err != nil {
		a.labError(w, r, err, fmt.Sprintf("token %d", id))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// GroupView is a group with its members.
type GroupView struct {
	Name    string   `json:"name"`
	Members []string `json:"members"`
}

func (a *API) listGroups(w http.ResponseWriter, r *http.Request) {
	gs, err := a.lab.ListGroups(r.Context(), caller(r.Context()))
	if err != nil {
		a.labError(w, r, err, "groups")
		return
	}
	out := make([]GroupView, 0, len(gs))
	for _, g := range gs {
		out = append(out, GroupView{Name: g.Name, Members: nonNil(g.Members)})
	}
	writeJSON(w, http.StatusOK, Page[GroupView]{Count: len(out), Limit: len(out), Results: out})
}

// GroupCreate is the body of POST /groups.
type GroupCreate struct {
	Name string `json:"name"`
}

func (a *API) createGroup(w http.ResponseWriter, r *http.Request) {
	var b GroupCreate
	if !decodeJSON(w, r, MaxBody, &b) {
		return
	}
	if strings.TrimSpace(b.Name) == "" {
		writeError(w, http.StatusBadRequest, "invalid", "name is required", nil)
		return
	}
	if err := a.lab.CreateGroup(r.Context(), caller(r.Context()), b.Name); err != nil {
		a.labError(w, r, err, fmt.Sprintf("group %q", b.Name))
		return
	}
	writeJSON(w, http.StatusCreated, GroupView{Name: b.Name, Members: []string{}})
}

// MemberAdd is the body of POST /groups/{name}/members.
type MemberAdd struct {
	Username string `json:"username"`
}

func (a *API) addGroupMember(w http.ResponseWriter, r *http.Request) {
	g := chi.URLParam(r, "name")
	var b MemberAdd
	if !decodeJSON(w, r, MaxBody, &b) {
		return
	}
	if err := a.lab.AddGroupMember(r.Context(), caller(r.Context()), g, b.Username); err != nil {
		a.labError(w, r, err, fmt.Sprintf("group %q or user %q", g, b.Username))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"group": g, "username": b.Username})
}
