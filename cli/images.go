package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/collabstack/collabstack/steps/host"
	"github.com/collabstack/collabstack/steps/images"
	"github.com/collabstack/collabstack/steps/swarm"
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
	push := &cobra.Command{
		Use:   "push IMAGE...",
		Short: "Copy images built on this machine into the site's registry, for your own stacks",
		Long: `Images you build yourself (docker build here) reach the swarm through the
site's registry on the manager: push saves them here, loads them on the
manager and pushes them to the registry (HTTPS with the site's CA, password
in the secrets file). Every node can then pull the printed names.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			sess, err := a.open()
			if err != nil {
				return err
			}
			defer sess.Close()
			mgr, addr, err := sess.Manager(cmd.Context())
			if err != nil {
				return err
			}
			out := func(line string) { fmt.Fprintln(a.stdout, line) }
			pushed, err := images.Push(cmd.Context(), host.NewLocal("local"), mgr, swarm.RegistryAddress(addr), args, out)
			if err != nil {
				return err
			}
			fmt.Fprintln(a.stdout, "Use these names in your stacks:")
			for _, p := range pushed {
				fmt.Fprintln(a.stdout, "  "+p)
			}
			return nil
		},
	}
	a.addConfigFlag(push)
	cmd.AddCommand(push)
	return cmd
}
