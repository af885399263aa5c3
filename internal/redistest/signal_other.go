//go:build !unix

package redistest

import (
	"errors"
	"os"
)

var errNoPause = errors.New("redistest: Pause and Resume need a Unix system")

func pauseProcess(*os.Process) error  { return errNoPause }
func resumeProcess(*os.Process) error { return errNoPause }
