-- (q4) the NBD fit alone on the same summary
SELECT persona.nbd_fit(x, t_x, t_cal) FROM btyd_summary
