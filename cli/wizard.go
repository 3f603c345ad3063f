package cli

import (
	"context"
	"errors"
)

func (a *app) runWizard(ctx context.Context) error {
	return usageError{errors.New("the wizard is not built into this version yet: write a site file with `collabstack init` and run `collabstack apply --config FILE`")}
}
