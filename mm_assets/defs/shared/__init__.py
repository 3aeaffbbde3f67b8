"""What every dataset's definitions share: settings resources and download retry rules."""
