package network

import (
	"context"
	"errors"
	"fmt"

	"github.com/collabstack/collabstack/steps/host"
)

// runScript runs templates/network/<name> on h with MODE=check or
// MODE=apply, feeding the rendered script on stdin. In check mode exit 0
// means done and exit 1 not done; any other status is an error.
func runScript(ctx context.Context, h host.Host, name string, data any, mode string, out func(string)) (bool, error) {
	script, err := render(name, data)
	if err != nil {
		return false, err
	}
	_, err = h.Run(ctx, "sh -s", host.RunOpts{Sudo: true, Stdin: script, Output: out, Env: map[string]string{"MODE": mode}})
	var ee *host.ExitError
	if mode == "check" && errors.As(err, &ee) && ee.Code == 1 {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("%s (%s): %w", name, mode, err)
	}
	return true, nil
}
