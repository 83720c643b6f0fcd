"""Reports: the last stage, turning stored results into charts, facts and documents."""
