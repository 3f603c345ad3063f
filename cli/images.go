package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/images"
)

func (a *app) imagesCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "images",
		Short: "Offline image bundles: save the images a site needs, to load them where nothing can be pulled",
		Long: `Hosts that cannot reach Docker Hub get their images from a bundle:
run 'collabstack images save' on a machine that can pull, copy the file, and
set images: {source: bundle, bundle: FILE} in the site file; apply then
loads it on every host, once.`,
	}
	var output string
	save := &cobra.Command{
		Use:   "save [IMAGE...]",
		Short: "Pull and save images into a bundle (docker save format)",
		RunE: func(cmd *cobra.Command, args []string) error {
			refs := args
			if len(refs) == 0 {
				return usageError{fmt.Errorf("name the images to save (the site's own list comes with its components)")}
			}
			out := func(line string) { fmt.Fprintln(a.stdout, line) }
			if err := images.Save(cmd.Context(), host.NewLocal("local"), refs, output, out); err != nil {
				return err
			}
			fmt.Fprintf(a.stdout, "Saved %d images to %s.\nIn the site file: images: {source: bundle, bundle: %s}\n", len(refs), output, output)
			return nil
		},
	}
	save.Flags().StringVarP(&output, "output", "o", "collabstack-images.tar", "the bundle file")
	cmd.AddCommand(save)
	return cmd
}
