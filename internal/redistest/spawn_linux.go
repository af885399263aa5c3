//go:build linux

package redistest

import (
	"os/exec"
	"runtime"
	"syscall"
)

// spawn starts cmd and returns a channel closed once it has exited and been
// reaped. On Linux the child gets SIGKILL if the test binary dies (a panic,
// go test -timeout), so no redis-server outlives its tests. Pdeathsig fires
// when the thread that forked the child exits, not the process, so the fork
// happens on a thread locked to a goroutine that lives exactly as long as the
// child.
func spawn(cmd *exec.Cmd) (<-chan struct{}, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	started := make(chan error, 1)
	exited := make(chan struct{})
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine, after the child
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		cmd.Wait()
		close(exited)
	}()
	if err := <-started; err != nil {
		return nil, err
	}
	return exited, nil
}
