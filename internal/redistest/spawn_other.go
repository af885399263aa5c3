//go:build !linux

package redistest

import "os/exec"

// spawn starts cmd and returns a channel closed once it has exited and been
// reaped.
func spawn(cmd *exec.Cmd) (<-chan struct{}, error) {
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	exited := make(chan struct{})
	go func() {
		cmd.Wait()
		close(exited)
	}()
	return exited, nil
}
