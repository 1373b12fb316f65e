-- (q2) the Pareto/NBD fit alone on the same summary
SELECT persona.pareto_nbd_fit(x, t_x, t_cal) FROM btyd_summary
