"""Medical image segmentation as conditional generation: Echo-DND's dual (Gaussian + Bernoulli) noise diffusion of
segmentation masks, conditioned on the ultrasound image; readers for HC18, CAMUS and EchoNet-Dynamic."""
