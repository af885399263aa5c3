package middleware

import qelos "github.com/qelos-io/integrator-go"

// User is the signed-in Qelos user: see [qelos.User].
type User = qelos.User

// Workspace is a Qelos workspace: see [qelos.Workspace].
type Workspace = qelos.Workspace
