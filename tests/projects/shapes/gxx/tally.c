static int total;

/* Add to the running total; the total never exceeds 100. */
int tally_add(int n)
{
	total += n;
	if (total > 100)
		total = 100;
	return total;
}
